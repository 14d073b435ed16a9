import type Router from '@koa/router';
import { Readable } from 'node:stream';
import { config } from '../../../config';
import { invalid, unauthorized } from '../../../errors';
import {
  attachmentContent,
  checkAttachmentTarget,
  deleteAttachment,
  discardAttachment,
  linkAttachment,
  listAttachments,
  showAttachment,
  stageAttachment,
  updateAttachment,
  uploadTimeLimitSeconds,
} from '../../../services/attachments/attachments';
import { verifyContentSignature } from '../../../services/attachments/contentUrl';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { receiveUpload } from '../../upload';
import { pathId } from '../../validation';
import { contentDisposition, downloadType, presentAttachment } from './presenter';
import { attachmentListQuery, contentQuery, updateAttachmentBody, uploadQuery } from './schema';

const tag = 'Attachments';
const path = '/v1/ticketing/attachments';

/** An id from a form field, or a 400 naming it. */
function formId(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw invalid({ [field]: 'must be a positive integer id' });
  return Number(value);
}

export function registerAttachmentRoutes(router: Router): void {
  registerAttachmentUploadRoutes(router);
  registerAttachmentFileRoutes(router);
}

/** Listing and uploading attachments. */
function registerAttachmentUploadRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Attachments (filter by ticket or reply)',
    query: attachmentListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listAttachments({ ...query, page: query }), presentAttachment),
  });

  route(router, {
    method: 'post',
    path,
    tag,
    status: 201,
    errors: [408, 413, 415],
    summary: 'Upload a file (multipart/form-data, field "file") to a ticket or a reply',
    description:
      'Give ticket_id or reply_id as query parameters, or as form fields before or after the file. ' +
      'The file is stored once by sha256; over ATTACHMENT_MAX_BYTES is a 413. No bytes for ' +
      'UPLOAD_IDLE_SECONDS, or a body slower than 60 s plus 1 s per 128 KiB of ATTACHMENT_MAX_BYTES, is a 408.',
    query: uploadQuery,
    handler: async ({ query, ctx, actor }) => {
      const max = config().attachmentMaxBytes;
      // a target named in the URL is checked before a byte is read
      if (query.ticket_id || query.reply_id) await checkAttachmentTarget(query.ticket_id, query.reply_id);
      const limits = { maxBytes: max, idleSeconds: config().uploadIdleSeconds, totalSeconds: uploadTimeLimitSeconds(max) };
      const upload = await receiveUpload(ctx, limits, (file) => stageAttachment(file.stream, max), discardAttachment);
      try {
        const row = await linkAttachment(upload.stored, {
          ticketId: query.ticket_id ?? formId(upload.fields.ticket_id, 'ticket_id'),
          replyId: query.reply_id ?? formId(upload.fields.reply_id, 'reply_id'),
          filename: upload.filename,
          declaredType: upload.mimeType,
          uploadedBy: actor.id,
        });
        return presentAttachment(row);
      } catch (e) {
        await discardAttachment(upload.stored).catch(() => undefined);
        throw e;
      }
    },
  });
}

/** One attachment: show, rename or move, delete, download. */
function registerAttachmentFileRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: `${path}/:id`,
    tag,
    summary: "An attachment's metadata",
    handler: async ({ params }) => presentAttachment(await showAttachment(pathId(params.id, 'attachment'))),
  });

  route(router, {
    method: 'put',
    path: `${path}/:id`,
    tag,
    summary: 'Rename an attachment or move it to another ticket or reply',
    body: updateAttachmentBody,
    handler: async ({ params, body }) => presentAttachment(await updateAttachment(pathId(params.id, 'attachment'), body)),
  });

  route(router, {
    method: 'delete',
    path: `${path}/:id`,
    tag,
    summary: 'Delete an attachment (and its bytes when nothing else uses them)',
    handler: async ({ params }) => {
      await deleteAttachment(pathId(params.id, 'attachment'));
      return { response: 'element deleted' };
    },
  });

  route(router, {
    method: 'get',
    path: `${path}/:id/content`,
    tag,
    access: 'public',
    produces: 'application/octet-stream',
    summary: 'Download the file, with a bearer token or a signed content_url',
    query: contentQuery,
    errors: [401, 404],
    handler: async ({ params, query, ctx }) => {
      const attachmentId = pathId(params.id, 'attachment');
      const signed = query.expires !== undefined && query.signature !== undefined && verifyContentSignature(attachmentId, query.expires, query.signature);
      if (!ctx.state.actor && !signed) throw unauthorized('a bearer token or a valid, unexpired signature is required');
      const a = await showAttachment(attachmentId);
      ctx.set('Content-Type', downloadType(a));
      ctx.set('Content-Length', String(a.size));
      ctx.set('Content-Disposition', contentDisposition(a.filename));
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
      ctx.set('Cache-Control', 'private, max-age=3600');
      ctx.status = 200;
      ctx.body = Readable.from(attachmentContent(a));
      return undefined;
    },
  });
}
