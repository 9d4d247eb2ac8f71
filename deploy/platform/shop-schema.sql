-- Schema of the sample shop database (deploy/platform/README.md). Load it into the platform's PostgreSQL with
--   psql -h 127.0.0.1 -p "$PLATFORM_PG_PORT" -U postgres -d ecommerce_db -f shop-schema.sql
-- The postgres service's healthcheck queries the orders table, so the container becomes healthy only after this.
CREATE TABLE IF NOT EXISTS customers (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    total numeric(10, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
