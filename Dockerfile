# One image for the API and the worker (docker-compose.yml picks the command).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir -e .
ENV PYTHONUNBUFFERED=1
CMD ["python", "worker.py"]
