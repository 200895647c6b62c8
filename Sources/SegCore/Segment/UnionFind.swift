/// Disjoint-set forests stored as parent indices (a root is its own parent).
enum UnionFind {
    /// The root of `i`'s set; every link on the way is pointed straight at the root (path compression), so later
    /// lookups from the same place take one step.
    @inline(__always)
    static func root(of i: Int32, in parent: UnsafeMutablePointer<Int32>) -> Int32 {
        var root = i
        while parent[Int(root)] != root { root = parent[Int(root)] }
        var j = i
        while parent[Int(j)] != root {
            let next = parent[Int(j)]
            parent[Int(j)] = root
            j = next
        }
        return root
    }
}
