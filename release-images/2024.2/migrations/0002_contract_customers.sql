-- Contract: the 2024.x application reads addresses and email_lower only; the old columns and
-- the triggers that kept the copies in step go.
DROP TRIGGER customers_sync_billing_address ON customers;
DROP FUNCTION customers_sync_billing_address();
ALTER TABLE customers
  DROP COLUMN street,
  DROP COLUMN city,
  DROP COLUMN postcode,
  DROP COLUMN country;
ALTER TABLE customers ALTER COLUMN email_lower SET NOT NULL;
CREATE UNIQUE INDEX customers_email_lower_key ON customers (email_lower);
