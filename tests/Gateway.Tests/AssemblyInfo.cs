// The end-to-end servers are shared and their stats must return to zero after each test: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
