import { isIPv4, isIPv6 } from 'node:net';
import { FormatRegistry } from '@sinclair/typebox';

// TypeBox checks `format` only for formats registered here; these are the JSON Schema names.
FormatRegistry.Set('ipv4', (value) => isIPv4(value));
FormatRegistry.Set('ipv6', (value) => isIPv6(value) && !value.includes('%'));
FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value));
