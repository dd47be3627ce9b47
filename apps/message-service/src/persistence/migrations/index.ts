import type { MigrationInterface } from 'typeorm';

/** Every migration of the message_service schema, oldest first. */
export const migrations: Array<new () => MigrationInterface> = [];
