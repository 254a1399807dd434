-- The demo application as it was first released: the address lives on the customer row and
-- order totals are decimal currency. Later releases move both, with expand / migrate / contract.
CREATE TABLE customers (
  id         bigserial PRIMARY KEY,
  name       text        NOT NULL,
  email      text        NOT NULL,
  street     text,
  city       text,
  postcode   text,
  country    text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  customer_id bigint        NOT NULL REFERENCES customers (id),
  total       numeric(12,2) NOT NULL,
  status      text          NOT NULL,
  placed_at   timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX orders_customer_id_idx ON orders (customer_id);
