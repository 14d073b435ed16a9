/**
 * A contact as the API shows it (SPEC §2's fields with the row's id and times).
 */
import type { Contact } from '../../../models/Contact';
import { type Presenter, presenter } from '../../present';

export const CONTACT_FIELDS = ['id', 'contactable_type', 'contactable_id', 'name', 'email', 'created_at', 'updated_at'] as const;

export const presentContact: Presenter<Contact> = presenter(CONTACT_FIELDS);
