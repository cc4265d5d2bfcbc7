-- Two roles on one PostgreSQL: Temporal's own databases and the app's.
CREATE ROLE temporal LOGIN PASSWORD 'temporal' CREATEDB;
CREATE ROLE chaser LOGIN PASSWORD 'chaser';
CREATE DATABASE chaser OWNER chaser;
