CREATE TABLE cell_mappings (
  id serial PRIMARY KEY,
  uuid text NOT NULL UNIQUE,
  name text NOT NULL
);
CREATE TABLE flavors (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  memory_mb integer NOT NULL,
  vcpus integer NOT NULL
);
CREATE TABLE instance_mappings (
  id serial PRIMARY KEY,
  instance_uuid text NOT NULL UNIQUE,
  cell_id integer REFERENCES cell_mappings (id),
  project_id text NOT NULL
);
