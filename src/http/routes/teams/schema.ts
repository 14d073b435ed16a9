/**
 * Request schemas of the support team routes; they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { email, id, text } from '../../validation';

export const supportTeamBody = z.object({
  name: text(),
  email: email().nullable().optional().describe("the team's own address, if any"),
});

export const memberListQuery = listQuery({});

export const membersBody = z.object({ user_ids: z.array(id()).max(1000).describe('ids of users') });
