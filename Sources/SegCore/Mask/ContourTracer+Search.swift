extension ContourTracer {
    /// The step rule of the border follower as a table, indexed by `from << 8 | neighbours`.
    ///
    /// `from` is the chain direction (0...7: E, NE, N, NW, W, SW, S, SE) of the pixel the border
    /// came from, which is foreground; `neighbours` has bit `d` set when the neighbour in direction
    /// `d` is foreground. Searching counter-clockwise from `from + 1`, the first foreground
    /// neighbour is the next pixel. Each entry packs:
    /// - bits 0...2: the direction of that next pixel;
    /// - bit 3: the east neighbour was examined and is background (a right crack was passed);
    /// - bit 4: the west neighbour was examined and is background (a left crack was passed);
    /// - bit 5: the step turns (its direction differs from the arriving one, `from ^ 4`), so
    ///   `CHAIN_APPROX_SIMPLE` keeps the pixel as a vertex.
    static let searchTable: [UInt8] = (0..<2048).map { index in
        let from = index >> 8
        let neighbours = index & 0xFF
        guard neighbours != 0 else { return 0 }
        var found = from + 1
        while neighbours & (1 << (found & 7)) == 0 { found += 1 }
        // The background directions examined are from + 1 ... found - 1 (not reduced mod 8).
        let examined = (from + 1)..<found
        let east = examined.contains(8)
        let west = examined.contains(4) || examined.contains(12)
        let dir = found & 7
        let turns = dir != from ^ 4
        return UInt8(dir | (east ? 8 : 0) | (west ? 16 : 0) | (turns ? 32 : 0))
    }

    /// The step rule run backwards, indexed by `to << 8 | neighbours`, where `to` is the
    /// direction of the pixel the border goes to next (foreground). The pixel it came from is the
    /// first foreground neighbour clockwise from `to`; the entry is `searchTable`'s entry for that
    /// step, with the direction of the pixel it came from in bits 0...2 instead of `to`.
    static let reverseTable: [UInt8] = (0..<2048).map { index in
        let to = index >> 8
        let neighbours = index & 0xFF
        guard neighbours & (1 << to) != 0 else { return 0 }
        var from = to + 7
        while neighbours & (1 << (from & 7)) == 0 { from -= 1 }
        let previous = from & 7
        let forward = searchTable[previous << 8 | neighbours]
        precondition(Int(forward & 7) == to, "the backward step must undo the forward one")
        return forward & ~7 | UInt8(previous)
    }
}
