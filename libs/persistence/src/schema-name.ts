const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A service's schema name goes into DDL and into the connection's `search_path`, so it is restricted to
 * lower-case snake case (a plain PostgreSQL identifier that needs no quoting): `message_service`.
 */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `Invalid PostgreSQL schema name ${JSON.stringify(schema)}: use 1-63 lower-case letters, digits and ` +
        'underscores, starting with a letter or an underscore',
    );
  }
}
