/**
 * Query schema of the suppression list; it validates and it documents.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';

export const suppressionListQuery = listQuery({
  'filter[address]': z.string().trim().min(1).max(320).optional().describe('part of the address, any case'),
});
