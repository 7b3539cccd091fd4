/** The account page's sections, in order. */
import type { ComponentType } from 'react';
import { ApiKeyCard } from './ApiKeyCard';
import { DeleteAccountCard } from './DeleteAccountCard';
import { LimitsCard } from './LimitsCard';
import { PasswordCard } from './PasswordCard';
import { SecurityEvents } from './SecurityEvents';
import { SessionsCard } from './SessionsCard';
import { TwoFactorCard } from './TwoFactorCard';

export const ACCOUNT_SECTIONS: { id: string; Component: ComponentType }[] = [
  { id: 'api-key', Component: ApiKeyCard },
  { id: 'limits', Component: LimitsCard },
  { id: 'sessions', Component: SessionsCard },
  { id: 'password', Component: PasswordCard },
  { id: 'two-factor', Component: TwoFactorCard },
  { id: 'events', Component: SecurityEvents },
  { id: 'delete', Component: DeleteAccountCard },
];
