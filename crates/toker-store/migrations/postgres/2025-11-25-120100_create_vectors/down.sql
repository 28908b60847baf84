DROP TABLE profile_vectors;
DROP TABLE vocabularies;
