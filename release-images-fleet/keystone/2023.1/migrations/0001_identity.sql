CREATE TABLE project (
  id text PRIMARY KEY,
  name text NOT NULL,
  domain_id text NOT NULL,
  enabled boolean NOT NULL DEFAULT true
);
CREATE TABLE identity_user (
  id text PRIMARY KEY,
  name text NOT NULL,
  domain_id text NOT NULL,
  default_project_id text REFERENCES project (id),
  enabled boolean NOT NULL DEFAULT true
);
