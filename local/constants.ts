/** Constants every part of the local cloud shares. */

/** The account moto serves (its default), and so the account of every ARN the local cloud writes. */
export const ACCOUNT_ID = '123456789012';
