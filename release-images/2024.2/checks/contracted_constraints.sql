-- check: Contracted columns are constrained
SELECT CASE WHEN ok THEN 0 ELSE 2 END AS result,
       CASE WHEN ok THEN 'customers.email_lower is NOT NULL and unique; orders.total_cents is NOT NULL and checked'
            ELSE 'a constraint of the 2024.2 contraction is missing or not valid' END AS details
FROM (
  SELECT
    (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'email_lower')
    AND (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'total_cents')
    AND EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = 'customers_email_lower_key'::regclass AND indisunique AND indisvalid)
    AND EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'orders_total_cents_not_negative' AND convalidated)
    AS ok
) s;
