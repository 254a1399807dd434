ALTER TABLE project ADD COLUMN is_domain boolean NOT NULL DEFAULT false;
