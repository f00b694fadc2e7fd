package org.dtlm.train;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class BatchTest {

    @Test
    void theKeySortOrdersAsArraysSortDoes() {
        SplittableRandom random = new SplittableRandom(11);
        int capacity = 5000;
        long[] scratch = new long[capacity];
        int[] counts = new int[1 << Batch.RADIX_BITS];
        // bounds: one digit, several digits, up to 2^62; counts from 1 to the capacity; duplicates in the small bounds
        long[] bounds = {1, 7, 2048, 1L << 20, 25L * 98, 1L << 40, 1L << 62};
        int[] sizes = {1, 2, 3, 40, 200, 2047, capacity};
        for (long bound : bounds) {
            for (int count : sizes) {
                long[] keys = new long[capacity];
                for (int i = 0; i < capacity; i++) keys[i] = random.nextLong(bound);
                long[] expected = keys.clone();
                Arrays.sort(expected, 0, count);
                Batch.sortAscending(keys, count, scratch, counts);
                assertArrayEquals(expected, keys, "bound " + bound + ", count " + count);
            }
        }
    }
}
