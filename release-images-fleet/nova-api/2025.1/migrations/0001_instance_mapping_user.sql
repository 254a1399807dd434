ALTER TABLE instance_mappings ADD COLUMN user_id text;
