-- depends: 0011.notification-outcome
-- On-site dispatch (core.tickets.onsite): the field technicians, how long it takes to travel
-- between places, the spare parts each warehouse holds, and each visit with the parts reserved
-- for it. Places are names (an asset's `location`, an office, a warehouse); production loads its
-- own, as it does customers and assets.
CREATE TABLE technicians (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    skills         text[] NOT NULL,            -- ticket teams they can fix on site (network, server, ...)
    region         text CHECK (region IN ('north', 'central', 'south')),
    base_place     text NOT NULL,
    current_place  text NOT NULL,              -- where the last visit left them (their base at first)
    on_duty        boolean NOT NULL DEFAULT true
);

-- Travel time by road, in minutes, each direction its own row.
CREATE TABLE travel_times (
    from_place  text NOT NULL,
    to_place    text NOT NULL,
    minutes     integer NOT NULL CHECK (minutes >= 0),
    PRIMARY KEY (from_place, to_place)
);

CREATE TABLE warehouses (
    id     text PRIMARY KEY,
    place  text NOT NULL
);

CREATE TABLE spare_parts (
    warehouse_id  text NOT NULL REFERENCES warehouses (id),
    part_number   text NOT NULL,
    quantity      integer NOT NULL CHECK (quantity >= 0),  -- on the shelf, reservations already taken out
    PRIMARY KEY (warehouse_id, part_number)
);

CREATE TABLE site_visits (
    id              uuid PRIMARY KEY,
    ticket_code     text NOT NULL REFERENCES tickets (code),
    technician_id   text NOT NULL REFERENCES technicians (id),
    to_place        text NOT NULL,
    travel_minutes  integer NOT NULL,
    dispatched_at   timestamptz NOT NULL,
    dispatched_by   text NOT NULL,
    eta             timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('dispatched', 'on_site', 'done', 'cancelled')),
    arrived_at      timestamptz,
    departed_at     timestamptz,
    work_done       text,
    photos          jsonb NOT NULL DEFAULT '[]',   -- metadata only: name, sha256, bytes, taken_at
    signoff         jsonb                          -- the customer's sign-off: name, at, note
);
-- One visit under way per ticket, and per technician.
CREATE UNIQUE INDEX site_visits_one_open_per_ticket ON site_visits (ticket_code) WHERE status IN ('dispatched', 'on_site');
CREATE UNIQUE INDEX site_visits_one_open_per_technician ON site_visits (technician_id) WHERE status IN ('dispatched', 'on_site');

CREATE TABLE part_reservations (
    visit_id      uuid NOT NULL REFERENCES site_visits (id),
    warehouse_id  text NOT NULL REFERENCES warehouses (id),
    part_number   text NOT NULL,
    quantity      integer NOT NULL CHECK (quantity > 0),
    used          integer CHECK (used >= 0 AND used <= quantity),  -- set when the visit ends
    status        text NOT NULL CHECK (status IN ('reserved', 'used', 'released')),
    PRIMARY KEY (visit_id, warehouse_id, part_number)
);
