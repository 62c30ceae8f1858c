"""Settings, database, migrations, logging, message catalogs and errors shared by every package."""
