-- Access reviews (issue 27): campaigns that certify who holds which console role.
-- A line is one role of one account as it stood when its campaign began (kept as
-- it was, so the report says what was reviewed even after the account changes);
-- a decision is set once (compare-and-set on `decision IS NULL`).

CREATE TABLE pf_access_reviews (
    review_id VARCHAR2(26) PRIMARY KEY,
    name VARCHAR2(200) NOT NULL,
    -- NULL: every console account; else one role.
    scope_role VARCHAR2(20) CHECK (scope_role IN ('admin','sre','compliance')),
    started_by VARCHAR2(26),
    started_at TIMESTAMP NOT NULL,
    deadline TIMESTAMP NOT NULL,
    reminded_at TIMESTAMP,
    closed_at TIMESTAMP,
    close_reason VARCHAR2(10) CHECK (close_reason IN ('decided','deadline'))
);
-- The list (newest first) and the upkeep's look for campaigns due.
CREATE INDEX idx_access_reviews_started ON pf_access_reviews(started_at);
CREATE INDEX idx_access_reviews_deadline ON pf_access_reviews(closed_at, deadline);

CREATE TABLE pf_access_review_lines (
    line_id VARCHAR2(26) PRIMARY KEY,
    review_id VARCHAR2(26) NOT NULL REFERENCES pf_access_reviews(review_id),
    user_id VARCHAR2(26) NOT NULL,
    username VARCHAR2(100) NOT NULL,
    role VARCHAR2(20) NOT NULL CHECK (role IN ('admin','sre','compliance')),
    granted_at TIMESTAMP,
    granted_by VARCHAR2(100),
    last_sign_in TIMESTAMP,
    second_factor CHAR(1) NOT NULL CHECK (second_factor IN ('Y','N')),
    -- The titles of the open security findings that named the account.
    findings VARCHAR2(1000),
    decision VARCHAR2(10) CHECK (decision IN ('keep','revoke')),
    comment_text VARCHAR2(1000),
    decided_by VARCHAR2(26),
    decided_by_name VARCHAR2(100),
    decided_at TIMESTAMP,
    CONSTRAINT uq_access_review_lines UNIQUE (review_id, user_id, role)
);
