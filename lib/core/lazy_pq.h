/* libpq, loaded on first use (core/lazy.h): the names lib/store/pgsql.c
 * uses. Include this instead of the library's header, and call
 * ms_lazy_load(&ms_pq_lib) before the first of them. */
#ifndef MAILSEC_LAZY_PQ_H
#define MAILSEC_LAZY_PQ_H

#include <libpq-fe.h>

#include "core/lazy.h"

#define MS_PQ_NAMES(X) \
    X(PQcancel) \
    X(PQclear) \
    X(PQconnectdb) \
    X(PQenterPipelineMode) \
    X(PQerrorMessage) \
    X(PQexec) \
    X(PQexitPipelineMode) \
    X(PQfinish) \
    X(PQfreeCancel) \
    X(PQfreemem) \
    X(PQgetCancel) \
    X(PQgetResult) \
    X(PQgetisnull) \
    X(PQgetvalue) \
    X(PQntuples) \
    X(PQpipelineStatus) \
    X(PQpipelineSync) \
    X(PQprepare) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsendPrepare) \
    X(PQsendQueryParams) \
    X(PQsendQueryPrepared) \
    X(PQsetClientEncoding) \
    X(PQsetNoticeProcessor) \
    X(PQsetSingleRowMode) \
    X(PQstatus) \
    X(PQtransactionStatus) \
    X(PQunescapeBytea)

#define MS_PQ_INDEX(name) ms_pq_##name,
enum { MS_PQ_NAMES(MS_PQ_INDEX) ms_pq_count };

extern ms_lazy_lib ms_pq_lib;
extern void *ms_pq_slots[ms_pq_count];

#define PQcancel MS_LAZY(ms_pq, PQcancel)
#define PQclear MS_LAZY(ms_pq, PQclear)
#define PQconnectdb MS_LAZY(ms_pq, PQconnectdb)
#define PQenterPipelineMode MS_LAZY(ms_pq, PQenterPipelineMode)
#define PQerrorMessage MS_LAZY(ms_pq, PQerrorMessage)
#define PQexec MS_LAZY(ms_pq, PQexec)
#define PQexitPipelineMode MS_LAZY(ms_pq, PQexitPipelineMode)
#define PQfinish MS_LAZY(ms_pq, PQfinish)
#define PQfreeCancel MS_LAZY(ms_pq, PQfreeCancel)
#define PQfreemem MS_LAZY(ms_pq, PQfreemem)
#define PQgetCancel MS_LAZY(ms_pq, PQgetCancel)
#define PQgetResult MS_LAZY(ms_pq, PQgetResult)
#define PQgetisnull MS_LAZY(ms_pq, PQgetisnull)
#define PQgetvalue MS_LAZY(ms_pq, PQgetvalue)
#define PQntuples MS_LAZY(ms_pq, PQntuples)
#define PQpipelineStatus MS_LAZY(ms_pq, PQpipelineStatus)
#define PQpipelineSync MS_LAZY(ms_pq, PQpipelineSync)
#define PQprepare MS_LAZY(ms_pq, PQprepare)
#define PQresultErrorField MS_LAZY(ms_pq, PQresultErrorField)
#define PQresultErrorMessage MS_LAZY(ms_pq, PQresultErrorMessage)
#define PQresultStatus MS_LAZY(ms_pq, PQresultStatus)
#define PQsendPrepare MS_LAZY(ms_pq, PQsendPrepare)
#define PQsendQueryParams MS_LAZY(ms_pq, PQsendQueryParams)
#define PQsendQueryPrepared MS_LAZY(ms_pq, PQsendQueryPrepared)
#define PQsetClientEncoding MS_LAZY(ms_pq, PQsetClientEncoding)
#define PQsetNoticeProcessor MS_LAZY(ms_pq, PQsetNoticeProcessor)
#define PQsetSingleRowMode MS_LAZY(ms_pq, PQsetSingleRowMode)
#define PQstatus MS_LAZY(ms_pq, PQstatus)
#define PQtransactionStatus MS_LAZY(ms_pq, PQtransactionStatus)
#define PQunescapeBytea MS_LAZY(ms_pq, PQunescapeBytea)

#endif
