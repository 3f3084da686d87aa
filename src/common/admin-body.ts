import { RouteConfig } from '@nestjs/platform-fastify';

/**
 * Lets an admin route take bodies up to ADMIN_BODY_LIMIT_BYTES instead of the
 * 16 KiB of public routes (CONTRACT §2); app.factory applies the limit.
 */
export const AdminBody = () => RouteConfig({ adminBody: true });
