-- The demo's sample schema, applied once by `dtool db-init --seed`.
CREATE TABLE authors (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE posts (
  id INT PRIMARY KEY AUTO_INCREMENT,
  author_id INT NOT NULL,
  title VARCHAR(200) NOT NULL,
  body MEDIUMTEXT,
  cover MEDIUMBLOB,
  published_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (author_id) REFERENCES authors (id)
) ENGINE=InnoDB;

CREATE VIEW post_counts AS
  SELECT a.name, COUNT(p.id) AS posts FROM authors a LEFT JOIN posts p ON p.author_id = a.id GROUP BY a.id;

INSERT INTO authors (name) VALUES ('Chris Collins'), ('Drew Stinnett'), ('Zoë Ångström');
INSERT INTO posts (author_id, title, body, cover)
  SELECT 1 + (seq % 3), CONCAT('Containers as binaries, part ', seq), REPEAT('Docker, Docker, no toil, no trouble. ', 40), RANDOM_BYTES(256)
  FROM seq_1_to_2000;
