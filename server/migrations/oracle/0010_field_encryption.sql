-- Field encryption (issue 8). Sensitive values are stored encrypted, each in a
-- column of its own beside the seed's column (`<column>_enc`), because the seed's
-- columns cannot hold a ciphertext (phone_number is 20 characters, date_of_birth a
-- DATE). The seed's columns stay, and stay NULL: the console never writes them,
-- and moves any plaintext it finds into the encrypted column (see README.md).
-- A ciphertext is `pf1:<key version>:<base64 of nonce, ciphertext and tag>`.

ALTER TABLE pf_users ADD phone_number_enc VARCHAR2(200);
ALTER TABLE pf_users ADD date_of_birth_enc VARCHAR2(200);
ALTER TABLE pf_users ADD gender_enc VARCHAR2(200);
ALTER TABLE pf_users ADD nationality_enc VARCHAR2(300);
ALTER TABLE pf_users ADD mfa_secret_enc VARCHAR2(500);
ALTER TABLE pf_sso_accounts ADD access_token_enc VARCHAR2(4000);
ALTER TABLE pf_sso_accounts ADD refresh_token_enc VARCHAR2(4000);

-- Which master key wraps each data key: a master-key rotation re-wraps the keys
-- still under an older one, and the server refuses to start when one is missing.
ALTER TABLE pf_encryption_keys ADD master_key_id VARCHAR2(16);
CREATE INDEX idx_enc_keys_master ON pf_encryption_keys(master_key_id);
-- The key inventory lists the keys longest without rotation first.
CREATE INDEX idx_enc_keys_rotated ON pf_encryption_keys(COALESCE(last_rotated, created_at), user_id);

-- Rotation runs take turns through this job's lease (see storage/jobs.rs).
INSERT INTO pf_console_jobs (job_name) VALUES ('key_rotation');
