-- Expand: addresses get their own table (a customer will have billing and shipping addresses).
-- The 2023.1 application still writes the address columns of customers, so a trigger keeps the
-- billing address in step with them; rows that existed before this migration are copied by the
-- data migration backfill_customer_addresses. 2024.2 contracts the old columns away.
CREATE TABLE addresses (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  kind        text   NOT NULL DEFAULT 'billing' CHECK (kind IN ('billing', 'shipping')),
  street      text,
  city        text,
  postcode    text,
  country     text,
  UNIQUE (customer_id, kind)
);

CREATE FUNCTION customers_sync_billing_address() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO addresses (customer_id, kind, street, city, postcode, country)
  VALUES (NEW.id, 'billing', NEW.street, NEW.city, NEW.postcode, NEW.country)
  ON CONFLICT (customer_id, kind) DO UPDATE
    SET street = EXCLUDED.street, city = EXCLUDED.city,
        postcode = EXCLUDED.postcode, country = EXCLUDED.country;
  RETURN NULL;
END $$;

CREATE TRIGGER customers_sync_billing_address
  AFTER INSERT OR UPDATE OF street, city, postcode, country ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_sync_billing_address();

-- The backfill gives each address it copies its customer's id (data/backfill_customer_addresses.yaml),
-- so a backfill batch that was cut off and ran again produces the very same rows: a sequence
-- value, once drawn, is gone even when the transaction that drew it rolls back. Rows the trigger
-- writes from now on draw from the sequence, which therefore starts above every customer id
-- allocated so far. The CREATE TRIGGER above holds a lock that waits out every customer insert in
-- flight, so no customer this backfill will copy can have an id beyond that point.
SELECT setval('addresses_id_seq', (SELECT last_value FROM customers_id_seq));
