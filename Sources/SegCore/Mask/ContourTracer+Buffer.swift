extension ContourTracer {
    /// A growable buffer of plain values that the tracer owns and frees explicitly.
    ///
    /// The hot loops keep `base`, `count` and `capacity` in locals and write them back, which a
    /// Swift `Array` (uniqueness and capacity checks on every append) does not allow.
    struct Buffer<Element> {
        var base: UnsafeMutablePointer<Element>
        var count: Int
        var capacity: Int

        init(capacity: Int) {
            self.capacity = Swift.max(capacity, 16)
            self.base = .allocate(capacity: self.capacity)
            self.count = 0
        }

        /// Makes room for at least `minimum` elements in total.
        mutating func reserve(_ minimum: Int) {
            guard minimum > capacity else { return }
            let newCapacity = Swift.max(minimum, capacity &* 2)
            let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
            newBase.moveInitialize(from: base, count: count)
            base.deallocate()
            base = newBase
            capacity = newCapacity
        }

        @inline(__always) mutating func append(_ element: Element) {
            if count == capacity { reserve(count + 1) }
            (base + count).initialize(to: element)
            count += 1
        }

        @inline(__always) subscript(_ index: Int) -> Element {
            get { base[index] }
            nonmutating set { base[index] = newValue }
        }

        func deallocate() { base.deallocate() }
    }
}
