/**
 * Item counts of migration passes (2.8 getmailhistory): what a gate's `maxItemFailurePercent`
 * judges. A pass reads items (mails, calendar entries, contacts) and migrates each with success or
 * failure; ignored items and those already migrated are not failures. The figure is failures ÷
 * read × 100, summed over mails + calendars + contacts of the passes counted.
 */
import type { HistoryPass } from "../client/calls";

export interface ItemCounts { read: number; success: number; failure: number; failurePercent: number }

export const NO_ITEMS: ItemCounts = { read: 0, success: 0, failure: 0, failurePercent: 0 };

/** Percent with at most two decimals (0 when nothing was read). */
function percent(failure: number, read: number): number {
    return read > 0 ? Math.round((failure / read) * 10_000) / 100 : 0;
}

/** The counts of some passes, summed over the three kinds of item. */
export function itemsOf(passes: readonly HistoryPass[]): ItemCounts {
    let read = 0, success = 0, failure = 0;
    for (const p of passes) {
        read += p.msgRead + p.calRead + p.conRead;
        success += p.msgSuccess + p.calSuccess + p.conSuccess;
        failure += p.msgFailure + p.calFailure + p.conFailure;
    }
    return { read, success, failure, failurePercent: percent(failure, read) };
}

export function addItems(a: ItemCounts, b: ItemCounts): ItemCounts {
    const read = a.read + b.read, failure = a.failure + b.failure;
    return { read, success: a.success + b.success, failure, failurePercent: percent(failure, read) };
}

/** Whether more than `maxPercent` of the items read failed (exact: no rounding decides it). */
export function overThreshold(c: ItemCounts, maxPercent: number | undefined): boolean {
    return maxPercent !== undefined && c.read > 0 && c.failure * 100 > maxPercent * c.read;
}

/** "3 of 10 items failed (30%)" */
export function itemFigure(c: ItemCounts): string {
    return `${c.failure} of ${c.read} items failed (${c.failurePercent}%)`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** A pass's start as epoch ms (its date as the API writes it, read into startIso), or NaN when it cannot be read. */
export function passStartMs(p: HistoryPass): number {
    return ISO.test(p.startIso) ? Date.parse(p.startIso) : NaN;
}
/** A pass's end as epoch ms, or NaN when it cannot be read. */
export function passEndMs(p: HistoryPass): number {
    return ISO.test(p.endIso) ? Date.parse(p.endIso) : NaN;
}
