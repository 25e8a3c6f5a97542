// Package migrations holds Hotline's schema, one goose migration set per SQL
// dialect, embedded in the binary.
package migrations

import "embed"

// Postgres is the schema for PostgreSQL, under the folder "postgres".
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite is the schema for SQLite, under the folder "sqlite".
//
//go:embed sqlite/*.sql
var SQLite embed.FS
