CREATE TABLE instances (
  id serial PRIMARY KEY,
  uuid text NOT NULL UNIQUE,
  hostname text NOT NULL,
  host text NOT NULL,
  vm_state text NOT NULL,
  memory_mb integer NOT NULL
);
