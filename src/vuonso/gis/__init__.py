"""GIS layer: companies, farms, teams, plots and their geometry; GPS tracks; OGC API Features."""
