/**
 * Request schema of the config routes: any subset of the settings, an unknown key refused.
 */
import { settingsSchema } from '../../../services/config/settings';

export const configBody = settingsSchema.partial().strict();
