"""Scale-out: partition-wise inference, embeddings and predictions on Dask; data-parallel training.

Everything runs on :mod:`dask.distributed` (``pip install 'skcovid[distributed]'``): a
:class:`distributed.LocalCluster` on one machine or a scheduler on a cluster. Searches
(``GridSearchCV``, ``cross_validate``, :func:`skcovid.stats.compare_estimators`) need
nothing from here: run them inside ``joblib.parallel_backend("dask")``. Training one
network over several processes (:class:`DataParallel`) uses torch's DistributedDataParallel.
See the "Scaling out" page of the documentation.
"""

from ._client import connect
from ._embed import embed_to_parquet, fill_embedding_cache
from ._postfit import ParallelPostFit
from ._predict_csv import predict_to_csv
from ._table import to_dask_table
from ._training import DataParallel

__all__ = ["DataParallel", "ParallelPostFit", "connect", "embed_to_parquet", "fill_embedding_cache",
           "predict_to_csv", "to_dask_table"]
