-- 2024.1 links each instance to its compute node by id (nova's compute_id), filled by the data phase.
CREATE TABLE compute_nodes (
  id serial PRIMARY KEY,
  host text NOT NULL UNIQUE
);
INSERT INTO compute_nodes (host) SELECT DISTINCT host FROM instances ORDER BY host;
ALTER TABLE instances ADD COLUMN compute_id integer REFERENCES compute_nodes (id);
