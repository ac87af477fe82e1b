"""Publishing for readers: a serving copy of the marts, Parquet files and the weekly report."""
