-- The demo Base Opération: the operational database the pipeline extracts from.
-- The same DDL runs on SQLite and PostgreSQL 15. Every instant is a TIMESTAMPTZ
-- (SQLite stores it as ISO 8601 text with a UTC offset), every amount a NUMERIC
-- with a declared scale, and every table has a primary key and an indexed
-- updated_at, which the extraction uses as its cursor.

CREATE TABLE zones (
    zone_code TEXT PRIMARY KEY,
    zone_name TEXT NOT NULL,
    region TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sites (
    site_id INTEGER PRIMARY KEY,
    zone_code TEXT NOT NULL REFERENCES zones (zone_code),
    site_name TEXT NOT NULL,
    city TEXT NOT NULL,
    site_type TEXT NOT NULL,            -- 'plant' or 'warehouse'
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    customer_name TEXT NOT NULL,
    market_segment TEXT NOT NULL,       -- 'industry', 'retail', 'public', 'healthcare'
    zone_code TEXT NOT NULL REFERENCES zones (zone_code),
    city TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    product_name TEXT NOT NULL,
    family TEXT NOT NULL,
    category TEXT NOT NULL,
    unit_cost NUMERIC(12, 2) NOT NULL,
    list_price NUMERIC(12, 2) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE carriers (
    carrier_id INTEGER PRIMARY KEY,
    carrier_name TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sales_orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    channel TEXT NOT NULL,              -- 'sales_rep', 'web', 'edi'
    order_status TEXT NOT NULL,         -- 'open', 'confirmed', 'shipped',
                                        -- 'delivered', 'cancelled'
    currency TEXT NOT NULL,
    ordered_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sales_order_lines (
    order_id INTEGER NOT NULL REFERENCES sales_orders (order_id),
    line_number INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(12, 2) NOT NULL,
    discount_rate NUMERIC(5, 4) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, line_number)
);

CREATE TABLE shipments (
    shipment_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES sales_orders (order_id),
    carrier_id INTEGER NOT NULL REFERENCES carriers (carrier_id),
    site_id INTEGER NOT NULL REFERENCES sites (site_id),
    promised_at TIMESTAMPTZ NOT NULL,
    shipped_at TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE production_orders (
    work_order_id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites (site_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    planned_quantity INTEGER NOT NULL,
    produced_quantity INTEGER NOT NULL,
    planned_start_date DATE NOT NULL,
    planned_end_date DATE NOT NULL,
    actual_start_at TIMESTAMPTZ,
    actual_end_at TIMESTAMPTZ,
    work_order_status TEXT NOT NULL,    -- 'planned', 'in_progress',
                                        -- 'completed', 'cancelled'
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE stock_levels (
    site_id INTEGER NOT NULL REFERENCES sites (site_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    on_hand_quantity INTEGER NOT NULL,
    reserved_quantity INTEGER NOT NULL,
    reorder_point INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, product_id)
);

CREATE TABLE invoices (
    invoice_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES sales_orders (order_id),
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    invoice_date DATE NOT NULL,
    due_date DATE NOT NULL,
    amount NUMERIC(14, 2) NOT NULL,
    currency TEXT NOT NULL,
    invoice_status TEXT NOT NULL,       -- 'issued', 'paid', 'cancelled'
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE payments (
    payment_id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices (invoice_id),
    amount NUMERIC(14, 2) NOT NULL,
    payment_method TEXT NOT NULL,       -- 'transfer', 'card', 'cheque'
    paid_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX zones_updated_at ON zones (updated_at);
CREATE INDEX sites_updated_at ON sites (updated_at);
CREATE INDEX customers_updated_at ON customers (updated_at);
CREATE INDEX products_updated_at ON products (updated_at);
CREATE INDEX carriers_updated_at ON carriers (updated_at);
CREATE INDEX sales_orders_updated_at ON sales_orders (updated_at);
CREATE INDEX sales_order_lines_updated_at ON sales_order_lines (updated_at);
CREATE INDEX shipments_updated_at ON shipments (updated_at);
CREATE INDEX production_orders_updated_at ON production_orders (updated_at);
CREATE INDEX stock_levels_updated_at ON stock_levels (updated_at);
CREATE INDEX invoices_updated_at ON invoices (updated_at);
CREATE INDEX payments_updated_at ON payments (updated_at);
