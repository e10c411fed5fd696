/** A refusal of the vendor: answered as {"hasError": true, "response": message}. */
export class VendorError extends Error {}
