"""What every part of the service stands on: settings, database and schema, users and tokens, the
service's own metrics and the object that owns one running instance."""
