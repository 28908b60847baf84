-- One row counting the transactions that wrote or deleted profile vectors (a refit, a
-- profile written with its vector, a profile or principal deleted, an upload proven), by
-- any process on this database: the API replicas compare it to rebuild their match index
-- when another process changed the vectors. It starts at 0 on an existing database; only
-- changes of it matter.
CREATE TABLE vector_writes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    writes BIGINT NOT NULL CHECK (writes >= 0)
);
INSERT INTO vector_writes (id, writes) VALUES (1, 0);
