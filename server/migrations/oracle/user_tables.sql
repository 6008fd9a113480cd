-- Per-user table set, created by `provision-user` (the seed's createUserTables).
-- `{u}` stands for `pf_user_<username>`; the username has passed the canonical rule.
-- Index names carry the same prefix: the seed's fixed names (idx_exp_dates, ...)
-- would collide from the second user on (ORA-00955).
-- One statement creates one object; objects are created in this order and dropped
-- in the reverse order.

CREATE TABLE {u}_experiences (
    id VARCHAR2(36) PRIMARY KEY,
    title VARCHAR2(255) NOT NULL,
    company VARCHAR2(255) NOT NULL,
    location VARCHAR2(255),
    start_date DATE NOT NULL,
    end_date DATE,
    is_current NUMBER(1) DEFAULT 0,
    description CLOB,
    key_achievements CLOB,
    technologies_used CLOB,
    industry VARCHAR2(100),
    role_type VARCHAR2(50),
    employment_type VARCHAR2(50),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX {u}_ix_exp_dates ON {u}_experiences(start_date, end_date);

CREATE INDEX {u}_ix_exp_company ON {u}_experiences(company);

CREATE TABLE {u}_skills (
    id VARCHAR2(36) PRIMARY KEY,
    experience_id VARCHAR2(36),
    skill_name VARCHAR2(100) NOT NULL,
    skill_category VARCHAR2(50),
    proficiency_level VARCHAR2(20),
    years_of_experience NUMBER(3,1),
    last_used DATE,
    is_primary NUMBER(1) DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (experience_id)
        REFERENCES {u}_experiences(id) ON DELETE CASCADE
);

CREATE INDEX {u}_ix_skills_name ON {u}_skills(skill_name);

CREATE INDEX {u}_ix_skills_category ON {u}_skills(skill_category);

CREATE TABLE {u}_profile_summary (
    id VARCHAR2(36) PRIMARY KEY,
    total_years_experience NUMBER(3,1),
    industries CLOB,
    top_skills CLOB,
    career_highlights CLOB,
    leadership_experience CLOB,
    technical_expertise CLOB,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE {u}_quick_summary (
    id VARCHAR2(36) PRIMARY KEY,
    professional_headline VARCHAR2(255),
    career_objective VARCHAR2(500),
    key_strengths CLOB,
    total_roles NUMBER(5),
    years_experience NUMBER(3,1),
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE {u}_chat_conversations (
    id VARCHAR2(36) PRIMARY KEY,
    title VARCHAR2(255),
    context CLOB,
    model VARCHAR2(50) DEFAULT 'gpt-4',
    total_messages NUMBER(10) DEFAULT 0,
    last_message_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX {u}_ix_chat_updated ON {u}_chat_conversations(updated_at);

CREATE TABLE {u}_chat_messages (
    id VARCHAR2(36) PRIMARY KEY,
    conversation_id VARCHAR2(36) NOT NULL,
    role VARCHAR2(20) NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content CLOB NOT NULL,
    tokens_used NUMBER(10),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (conversation_id)
        REFERENCES {u}_chat_conversations(id) ON DELETE CASCADE
);

CREATE INDEX {u}_ix_messages_conv ON {u}_chat_messages(conversation_id, created_at);

CREATE TABLE {u}_career_analytics (
    id VARCHAR2(36) PRIMARY KEY,
    metric_date DATE NOT NULL,
    metric_type VARCHAR2(50) NOT NULL,
    metric_value NUMBER(10,2),
    metric_data CLOB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (metric_date, metric_type)
);

CREATE TABLE {u}_skills_progression (
    id VARCHAR2(36) PRIMARY KEY,
    skill_name VARCHAR2(100) NOT NULL,
    assessment_date DATE NOT NULL,
    proficiency_score NUMBER(3),
    growth_rate NUMBER(5,2),
    market_demand_score NUMBER(3),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- pert_responses: named by the seed, not defined (our design). A user's own drafts
-- of PERT answers (challenge / actions / results / lessons learned, as in
-- pf_cpa_pert_experiences) before they go into a shared report.
CREATE TABLE {u}_pert_responses (
    id VARCHAR2(36) PRIMARY KEY,
    experience_id VARCHAR2(36),
    report_id VARCHAR2(26),
    sub_competency_id VARCHAR2(26) NOT NULL,
    proficiency_level NUMBER(1) CHECK (proficiency_level IN (0,1,2)),
    challenge CLOB,
    actions CLOB,
    results CLOB,
    lessons_learned CLOB,
    word_count NUMBER(10),
    status VARCHAR2(20) DEFAULT 'draft' CHECK (status IN ('draft','final','submitted')),
    version NUMBER(5) DEFAULT 1,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (experience_id)
        REFERENCES {u}_experiences(id) ON DELETE SET NULL
);

CREATE INDEX {u}_ix_pert_competency ON {u}_pert_responses(sub_competency_id);

CREATE INDEX {u}_ix_pert_report ON {u}_pert_responses(report_id);

CREATE TABLE {u}_experiences_archive
AS SELECT * FROM {u}_experiences WHERE 1=0;

-- The seed's view has no refresh clause; it is refreshed on demand, complete
-- (SYSDATE rules out fast refresh).
CREATE MATERIALIZED VIEW {u}_career_summary
BUILD IMMEDIATE
REFRESH COMPLETE ON DEMAND AS
SELECT
    COUNT(*) AS total_positions,
    COUNT(DISTINCT company) AS total_companies,
    MIN(start_date) AS career_start_date,
    SUM(
        CASE
            WHEN end_date IS NULL THEN
                MONTHS_BETWEEN(SYSDATE, start_date)
            ELSE
                MONTHS_BETWEEN(end_date, start_date)
        END
    ) / 12 AS total_years_experience
FROM {u}_experiences;
