ALTER TABLE identity_user ADD COLUMN last_active_at date;
CREATE TABLE user_option (
  user_id text NOT NULL REFERENCES identity_user (id),
  option_id text NOT NULL,
  option_value text,
  PRIMARY KEY (user_id, option_id)
);
