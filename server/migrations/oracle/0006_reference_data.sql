-- Reference data the seed names without columns (our design).

CREATE TABLE pf_ref_skills_catalog (
    skill_id VARCHAR2(26) PRIMARY KEY,
    skill_name VARCHAR2(100) NOT NULL,
    skill_category VARCHAR2(50),
    description CLOB,
    aliases CLOB CHECK (aliases IS JSON),
    market_demand_score NUMBER(3) CHECK (market_demand_score BETWEEN 0 AND 100),
    is_active CHAR(1) DEFAULT 'Y' NOT NULL CHECK (is_active IN ('Y','N')),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX uq_ref_skills_name ON pf_ref_skills_catalog(LOWER(skill_name));
CREATE INDEX idx_ref_skills_category ON pf_ref_skills_catalog(skill_category);

CREATE TABLE pf_ref_career_paths (
    path_id VARCHAR2(26) PRIMARY KEY,
    path_name VARCHAR2(200) UNIQUE NOT NULL,
    industry VARCHAR2(100),
    from_role VARCHAR2(200),
    to_role VARCHAR2(200) NOT NULL,
    typical_years NUMBER(3,1),
    required_skills CLOB CHECK (required_skills IS JSON),
    steps CLOB CHECK (steps IS JSON),
    description CLOB,
    is_active CHAR(1) DEFAULT 'Y' NOT NULL CHECK (is_active IN ('Y','N')),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_ref_paths_industry ON pf_ref_career_paths(industry);
