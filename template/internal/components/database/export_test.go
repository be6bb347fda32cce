package database

// MigrateCmd exposes the migrate command's builder to the external tests.
var MigrateCmd = migrateCmd
