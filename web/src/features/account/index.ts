/**
 * The account page's sections, in order. Sessions, password, 2FA enrolment and logout (contract
 * v2, issue 11) slot in here as their routes reach openapi.json.
 */
import type { ComponentType } from 'react';
import { ApiKeyCard } from './ApiKeyCard';
import { LimitsCard } from './LimitsCard';
import { SecurityEvents } from './SecurityEvents';

export const ACCOUNT_SECTIONS: { id: string; Component: ComponentType }[] = [
  { id: 'api-key', Component: ApiKeyCard },
  { id: 'limits', Component: LimitsCard },
  { id: 'events', Component: SecurityEvents },
];
