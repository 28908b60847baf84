DROP TABLE vector_writes;
