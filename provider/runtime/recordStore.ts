/** The store of a stack's records (stateStore.ts chooses one; DirStore and AzureBlobStore are the two). */
/** How the records of a stack are kept: which store, and with which credential. */
export type StoreKind = "file" | "azblob-key" | "azblob-sas" | "azblob-connection-string" | "azblob-identity" | "none";

/**
 * A flat set of small named records.
 *
 * Contract, which every store honours and the run journal relies on to fail closed:
 *  - `get` returns undefined ONLY for a definite absence: no such file (or no such folder), or the
 *    service's 404 BlobNotFound / ContainerNotFound. Any other failure (a refused or broken
 *    connection, a timeout, 403, another status, a folder or file that is not this user's own,
 *    no Azure AD token) THROWS;
 *  - `put`, `remove` and `list` throw on any failure (`remove` of a missing record succeeds; `list`
 *    of a missing folder or container prefix is empty);
 *  - a thrown Error's message says where (`where`, and the service address) and what failed (the
 *    operation, the record's name, the status and code); it never carries a credential: account
 *    keys, SAS signatures (`sig=`), connection strings and tokens are redacted.
 */
export interface RecordStore {
    /** Where, for messages: "file:///x/.pulumi-cloudiway" or "azblob://c/.pulumi-cloudiway". */
    readonly where: string;
    /** Which kind of store and credential (see StoreKind); stores made elsewhere (tests) may leave it out. */
    readonly kind?: StoreKind;
    get(name: string): Promise<string | undefined>;
    put(name: string, text: string): Promise<void>;
    remove(name: string): Promise<void>;
    list(): Promise<string[]>;
}
