/**
 * Request schemas of the attachment routes; they validate and they document. The upload's
 * form fields are read by the router (formId), as they come with the file.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { id, queryId } from '../../validation';

export const attachmentListQuery = listQuery({ ticket_id: queryId().optional(), reply_id: queryId().optional() });

export const uploadQuery = z.object({ ticket_id: queryId().optional(), reply_id: queryId().optional() });

export const updateAttachmentBody = z.object({ filename: z.string().min(1).max(1000), ticket_id: id().nullable(), reply_id: id().nullable() }).partial();

export const contentQuery = z.object({ expires: z.coerce.number().int().optional(), signature: z.string().max(200).optional() });
