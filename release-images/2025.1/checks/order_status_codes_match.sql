-- check: Order status codes match the status names
SELECT CASE WHEN n = 0 THEN 0 ELSE 2 END AS result,
       CASE WHEN n = 0 THEN 'every order''s status_code names its status'
            ELSE n || ' orders have a status_code that does not match their status' END AS details
FROM (
  SELECT count(*) AS n FROM orders o LEFT JOIN order_statuses s ON s.code = o.status_code
  WHERE s.name IS DISTINCT FROM o.status
) mismatches;
